"""The embedded default: a private Redis and local worker processes.

`benchq run` with no broker configured starts these, runs through the very
same producer, queue and worker code as a distributed deployment, and stops
them again.
"""
