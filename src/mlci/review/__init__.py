"""The pull-request review: the report and its rendering, the gate's command line, the sweep, the comment poster."""
