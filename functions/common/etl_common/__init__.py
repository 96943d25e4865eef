"""Code shared by the pipeline's functions, the local stack and the operations tools, deployed
as the common Lambda layer: `layout` (every key), `messages` (the typed plan and requests),
`vocabulary` (outcomes and reason codes), `column_types` (one type table for Arrow, Glue, Spark)."""
