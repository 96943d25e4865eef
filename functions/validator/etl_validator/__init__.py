"""CSV validation against per-dataset pandera contracts, streamed with pyarrow."""
