"""Workstation training side: data discovery and splitting, the models, training and evaluation."""

from __future__ import annotations
