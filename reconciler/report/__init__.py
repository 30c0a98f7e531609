"""Reports on the fleet: drift findings (drift.py), what `get`/`workers`/`logs` show
(observe.py), a live deployment as a manifest (export.py). Pure except export's file writes."""
