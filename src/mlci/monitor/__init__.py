"""Monitoring and continuous training: drift, decay and fairness checks on new data, and taking a batch in."""
