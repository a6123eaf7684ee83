//! GraphQL over HTTP: `POST /graphql` and `GET /graphql`.
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;

use crate::app::AppState;

pub async fn graphql_post(State(app): State<AppState>, request: GraphQLRequest) -> GraphQLResponse {
    app.schema.execute(request.into_inner()).await.into()
}

pub async fn graphql_get(State(app): State<AppState>, request: GraphQLRequest) -> GraphQLResponse {
    app.schema.execute(request.into_inner()).await.into()
}
