from . import test_consent
from . import test_erasure
from . import test_http
from . import test_request
from . import test_retention
