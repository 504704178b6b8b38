from . import crm_lead_interest
from . import crm_lead_form_answer
from . import crm_lead
