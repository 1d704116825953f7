"""Scenario format v1: the validated model and its loaders."""

from allocator.scenario.load import load_scenario, read_document, scenario_from_dict
from allocator.scenario.model import LinkTable, Resource, Scenario, Site, UnitTable

__all__ = ["LinkTable", "Resource", "Scenario", "Site", "UnitTable", "load_scenario", "read_document",
           "scenario_from_dict"]
