from . import budget_plan as budget_plan
from . import common as common
from . import forecast as forecast
from . import forecast_history as forecast_history
from . import manager_review as manager_review
from . import team_review as team_review
from . import team_summary as team_summary
