create or replace function {semantic}.get_budget_breach_risk(
  start_date date default {today} - interval 7 days comment 'Keep predictions made on or after this UTC day (their as-of day); NULL = no lower bound. Default: 7 days ago.',
  end_date date default {today} comment 'Keep predictions made on or before this UTC day; NULL = no upper bound. Default: today.',
  workspace string default null comment 'Workspace id or name, or account; NULL (default) = every workspace and the account.',
  min_probability double default 0.0 comment 'Lowest breach probability returned (0 to 1). Default 0 (all).'
)
returns table (
  rank int comment 'Position by breach probability, 1 = most likely to end the month over budget.',
  month_start date comment 'First day of the month.',
  workspace_id string comment 'Workspace id, or "account" for the account total.',
  workspace_name string comment 'Current workspace name ("account" for the account total).',
  as_of_date date comment 'Last complete day the prediction knows of.',
  days_remaining int comment 'Days of the month still to come.',
  month_to_date_list_cost double comment 'List cost of the month so far (account currency).',
  expected_month_end_list_cost double comment 'Expected list cost of the whole month.',
  lower_month_end_list_cost double comment 'Lower bound of the 80% interval of the month-end cost.',
  upper_month_end_list_cost double comment 'Upper bound of the 80% interval of the month-end cost.',
  budget_list_cost double comment 'Monthly budget in list-price currency.',
  budget_source string comment 'params (ml.budgets) or default (the usual month plus the default headroom of the model, 10% as shipped).',
  breach_probability double comment 'Probability that the month ends over the budget.',
  model_version string comment 'Champion version of budget_alert_model that scored.'
)
comment 'Month-end spend forecast and the probability of ending the month over budget, per workspace and for the account, from the ML budget alert model (month-to-date spend plus a forecast distribution of the remaining days). Budgets come from params (ml.budgets); without one, the usual month plus a headroom (10% as shipped). Its held-out Brier score and breach recall on simulated budgets, against the run-rate rule, are in get_ml_model_quality. BEST FOR: "will we go over budget this month?", "which workspace is most likely to overspend?", "where will the month end?". NOT FOR: daily forecasts (get_cost_forecast), past spend (get_daily_cost_summary), budgets per tag. Empty until the ML steps have run; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  risk as (
    select b.*, coalesce(w.workspace_name, b.workspace_id) as ws_name
    from {ml.pred_budget_breach} as b
    left join ws as w on w.workspace_id = b.workspace_id
    where (start_date is null or b.as_of_date >= start_date)
      and (end_date is null or b.as_of_date <= end_date)
      and b.breach_probability >= min_probability
      and (workspace is null or b.workspace_id = workspace or w.workspace_name = workspace)
  )
  select
    cast(row_number() over (order by r.breach_probability desc, r.workspace_id) as int) as rank,
    r.month_start as month_start,
    r.workspace_id as workspace_id,
    r.ws_name as workspace_name,
    r.as_of_date as as_of_date,
    r.days_remaining as days_remaining,
    r.month_to_date_cost as month_to_date_list_cost,
    r.expected_month_end_cost as expected_month_end_list_cost,
    r.lower_month_end_cost as lower_month_end_list_cost,
    r.upper_month_end_cost as upper_month_end_list_cost,
    r.budget as budget_list_cost,
    r.budget_source as budget_source,
    r.breach_probability as breach_probability,
    r.model_version as model_version
  from risk as r
  order by rank
