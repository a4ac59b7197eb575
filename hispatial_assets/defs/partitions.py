"""Partitions: one per drop (dynamic, added by the drop sensor or `hispatial add-drop`)."""

import dagster as dg

drops = dg.DynamicPartitionsDefinition(name="drops")
