from . import crm_lead_interest
from . import crm_lead_form_answer
from . import crm_lead
from . import crm_call_outcome
from . import crm_call
from . import crm_lead_calling
from . import mail_activity
from . import res_config_settings
