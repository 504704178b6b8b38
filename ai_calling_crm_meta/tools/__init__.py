from . import meta_graph
