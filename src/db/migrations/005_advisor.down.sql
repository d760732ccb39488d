-- Undoes 005_advisor: applied/dismissed marks are forgotten (recommendations are computed live).
DROP TABLE IF EXISTS advisor_recommendation_states;
