"""Turns openapi/knock.yaml into src/knock_async/models and src/knock_async/resources."""
