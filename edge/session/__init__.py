"""A screening session: its state machine (`machine`), what the nurse is told (`problems`),
its database (`store`), and the service that runs it."""
