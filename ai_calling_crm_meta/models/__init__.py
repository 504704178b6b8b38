from . import crm_meta_app
from . import crm_meta_page
from . import crm_meta_form
from . import crm_meta_lead_event
from . import crm_lead
