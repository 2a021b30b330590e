"""The sandbox on the wire: the Flask app, the REST, ``/subscribe``, control and
SDK endpoints, serialization, the in-process adapter and the standalone server.

The top layer: it imports the engine and the model, and nothing imports it back.
"""
