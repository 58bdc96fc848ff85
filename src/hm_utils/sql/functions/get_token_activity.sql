create or replace function {semantic}.get_token_activity(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all.',
  top_n int default 50 comment 'Number of identities returned (rank 1..top_n). Default 50.'
)
returns table (
  rank int comment 'Position by tokens created, then token logins, 1 = most active.',
  workspace_id string comment 'Workspace of the activity.',
  workspace_name string comment 'Current workspace name.',
  user_email string comment 'User or service principal using or managing tokens.',
  tokens_created bigint comment 'Personal access tokens generated (generateDbToken and token management creates).',
  tokens_revoked bigint comment 'Tokens revoked or deleted.',
  token_logins bigint comment 'Logins with a token (tokenLogin).',
  failed_token_logins bigint comment 'Token logins answered 401/403 (expired, revoked or wrong token).',
  distinct_ips bigint comment 'Distinct client IP addresses of these events.',
  first_event timestamp comment 'First token event in the period (UTC).',
  last_event timestamp comment 'Last token event in the period (UTC).'
)
comment 'Personal access token activity per identity: tokens created and revoked, logins with tokens (failed ones too) and from how many IP addresses. BEST FOR: "who created access tokens this week?", "which users log in with tokens from many IPs?", "are revoked tokens still being tried?". NOT FOR: interactive login failures (use get_failed_logins), permission changes (get_permission_changes), all events of an identity (get_identity_activity).'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  events as (
    select e.workspace_id as workspace_id, e.user_email as user_email,
      count_if(e.is_token_event and (lower(e.action_name) like '%generate%' or lower(e.action_name) like '%create%')) as tokens_created,
      count_if(e.is_token_event and (lower(e.action_name) like '%revoke%' or lower(e.action_name) like '%delete%')) as tokens_revoked,
      count_if(e.action_name = 'tokenLogin') as token_logins,
      count_if(e.action_name = 'tokenLogin' and e.is_failed_login) as failed_token_logins,
      cast(size(collect_set(e.source_ip_address)) as bigint) as distinct_ips,
      min(e.event_time) as first_event,
      max(e.event_time) as last_event
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and (e.is_token_event or e.action_name = 'tokenLogin')
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
    group by e.workspace_id, e.user_email
  ),
  ranked as (
    select v.*, row_number() over (order by v.tokens_created desc, v.token_logins desc, v.user_email) as rank from events as v
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.user_email as user_email,
    r.tokens_created as tokens_created,
    r.tokens_revoked as tokens_revoked,
    r.token_logins as token_logins,
    r.failed_token_logins as failed_token_logins,
    r.distinct_ips as distinct_ips,
    r.first_event as first_event,
    r.last_event as last_event
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  where r.rank <= top_n
  order by rank
