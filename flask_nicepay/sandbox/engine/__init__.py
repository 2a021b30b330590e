"""What PortOne does with the records: payments, cancels, vbanks, billing keys,
schedules, the payment window, webhooks and faults.

It imports the model below it and nothing from the HTTP layer above it.
"""
