from . import test_crm_call
from . import test_crm_call_outcome
from . import test_follow_up
from . import test_call_report
from . import test_assignment
from . import test_assignment_concurrency
from . import test_duplicate
from . import test_lead_history
