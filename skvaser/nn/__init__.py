"""PyTorch building blocks: batching, encoders, planar flows, networks and the trainer."""
