"""Engines that run batch jobs beyond this process (the local one is in :mod:`transzero.pipeline.batch`)."""
