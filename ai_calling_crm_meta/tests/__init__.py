from . import test_backfill
from . import test_config
from . import test_graph_errors
from . import test_processing
from . import test_webhook
