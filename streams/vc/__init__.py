"""Video conference: endpoint telemetry and meetings."""
