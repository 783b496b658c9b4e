"""The batch jobs that grow with an archive (judging imported measurements, change
detection, audits), and the engines that run them: this machine's processes, or Apache
Spark (`engine.spark`). Both call the same per-chunk work (`engine.judging`)."""
