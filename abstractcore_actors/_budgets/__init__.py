"""Budgets, rate limits and the usage ledger (reserve before a call, settle
after; SQLite of every settled call). Private; used by the gateway. See
docs/routing.md."""

from ._book import BudgetBook as BudgetBook
from ._book import Reservation as Reservation
from ._book import UnpricedUnderBudget as UnpricedUnderBudget
from ._estimate import prompt_ceiling as prompt_ceiling
from ._estimate import worst_case as worst_case
from ._ledger import CallRecord as CallRecord
from ._ledger import SqliteLedger as SqliteLedger
from ._redis import RedisClient as RedisClient
from ._redis import RedisUnavailable as RedisUnavailable
from ._redis_health import RedisHealth as RedisHealth
from ._redis_store import RedisBudgets as RedisBudgets
from ._spec import Budget as Budget
from ._spec import Period as Period
from ._spec import Scope as Scope
from ._spec import Spend as Spend
from ._spec import Who as Who
from ._spending import Hold as Hold
from ._spending import Spending as Spending
