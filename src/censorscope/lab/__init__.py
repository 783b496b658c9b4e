"""The lab: an emulated internet with censors, on loopback, in its own process."""
