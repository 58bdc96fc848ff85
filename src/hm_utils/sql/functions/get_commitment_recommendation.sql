create or replace function {semantic}.get_commitment_recommendation(
  start_date date default {today} - interval 7 days comment 'Keep recommendations whose period starts on or after this UTC day; NULL = no lower bound. Default: 7 days ago.',
  end_date date default {today} + interval 1 day comment 'Keep recommendations whose period starts on or before this UTC day; NULL = no upper bound. Default: tomorrow.',
  workspace string default 'account' comment 'Workspace id or name, or account (default: the account total, what a commitment is usually bought for); NULL = all.'
)
returns table (
  workspace_id string comment 'Workspace id, or "account" for the account total.',
  workspace_name string comment 'Current workspace name ("account" for the account total).',
  period_start date comment 'First day of the period the commitment covers.',
  period_days int comment 'Days in the period.',
  discount double comment 'Discount on list price the commitment buys (a share, from params).',
  recommended_commit_list_cost double comment 'List-price spend to commit for the period (paid at the discount whether used or not).',
  expected_list_cost double comment 'Expected list-price spend of the period: what pay-as-you-go costs on average.',
  p10_list_cost double comment '10th percentile of the forecast spend of the period.',
  p90_list_cost double comment '90th percentile of the forecast spend of the period.',
  expected_committed_list_cost double comment 'Expected cost with the recommended commitment (the commitment plus usage above it at list price).',
  expected_saving double comment 'Expected saving of the commitment against pay-as-you-go (account currency).',
  expected_saving_pct double comment 'Expected saving as a % of the expected pay-as-you-go cost.',
  model_version string comment 'Champion version of commitment_recommender that scored.'
)
comment 'The spend commitment for the next period that minimises the expected cost at the configured discount, from the ML commitment recommender (an optimisation over the forecast distribution of the spend of the period: commit too much and the unused part is lost, too little and the rest is paid at list price). Its backtested savings against pay-as-you-go and against committing the spend of the last period are in get_ml_model_quality. BEST FOR: "how much should we commit to?", "what would a commitment save us?", "how uncertain is the spend of next month?". NOT FOR: day-by-day forecasts (get_cost_forecast), month-end budget risk (get_budget_breach_risk). Empty until the ML steps have run; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  )
  select
    c.workspace_id as workspace_id,
    coalesce(w.workspace_name, c.workspace_id) as workspace_name,
    c.period_start as period_start,
    c.period_days as period_days,
    c.discount as discount,
    c.recommended_commit as recommended_commit_list_cost,
    c.expected_spend as expected_list_cost,
    c.spend_p10 as p10_list_cost,
    c.spend_p90 as p90_list_cost,
    c.expected_cost_committed as expected_committed_list_cost,
    c.expected_savings as expected_saving,
    case when c.expected_spend > 0 then 100 * c.expected_savings / c.expected_spend end as expected_saving_pct,
    c.model_version as model_version
  from {ml.pred_commitment} as c
  left join ws as w on w.workspace_id = c.workspace_id
  where (start_date is null or c.period_start >= start_date)
    and (end_date is null or c.period_start <= end_date)
    and (workspace is null or c.workspace_id = workspace or w.workspace_name = workspace)
  order by workspace_id
