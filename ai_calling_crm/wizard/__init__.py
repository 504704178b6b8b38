from . import crm_call_log_wizard
from . import crm_lead_redistribute_wizard
