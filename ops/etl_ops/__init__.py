"""Operating the deployed pipeline: tools that work the same on the local stack and in AWS."""
