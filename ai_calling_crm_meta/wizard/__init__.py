from . import crm_meta_backfill_wizard
