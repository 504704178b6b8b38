from . import test_crm_call
from . import test_crm_call_outcome
from . import test_follow_up
from . import test_call_report
