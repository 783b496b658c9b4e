"""The probe: measure a URL step by step (DNS, TCP, TLS, HTTP, throughput)."""
