"""The live runtime: the engine's single-consumer input queue and the asyncio I/O thread."""
