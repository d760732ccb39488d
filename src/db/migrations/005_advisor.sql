-- Performance advisor (issue 17): the state an admin gives a recommendation (applied, dismissed)
-- outlives restarts and is shared by every instance; recommendations themselves are computed live.
CREATE TABLE advisor_recommendation_states (
  id          text PRIMARY KEY,
  state       text NOT NULL CHECK (state IN ('new', 'applied', 'dismissed')),
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
