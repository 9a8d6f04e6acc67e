"""The service: webhook, app factory, delivery store, workers, handlers, settings, logs."""
