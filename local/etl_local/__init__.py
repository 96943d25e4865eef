"""The local stack: the real template, state machine and code on moto, without Docker or AWS."""
