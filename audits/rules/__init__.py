"""Rules composed from operators (the ``rule`` check kind's conditions): ``conditions`` parses and
evaluates the condition trees, ``operators`` holds the operators, each registered by its class."""

from audits.rules.conditions import Condition, ConditionType, describe, evaluate, operators_in, whole_call
from audits.rules.operators import OPERATORS, RuleGaveUp, Scope

__all__ = ["OPERATORS", "Condition", "ConditionType", "RuleGaveUp", "Scope", "describe", "evaluate", "operators_in", "whole_call"]
