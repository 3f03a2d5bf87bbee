"""``gridctl``: the operator's command-line client for the bot's gRPC control plane.

It depends on gRPC, the health-checking stubs and the generated ``gridbot.v1`` stubs
only, so it can be installed and run on a machine that never runs the bot itself.
"""
