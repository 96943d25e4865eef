"""Code shared by the pipeline's functions, deployed as a Lambda layer."""
