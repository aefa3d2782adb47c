//! `IGNORE NULLS` that survives the trip to a Ballista executor (cargo feature `ballista`).
//!
//! Ballista 55 sends each task's physical plan to its executor through `datafusion-proto`,
//! which writes `ignore_nulls: false` for every window function DataFusion implements as a
//! window UDF: `lag`, `lead`, `first_value`, `last_value`, `nth_value`. So
//! `lag(bid_ask) IGNORE NULLS` (`sql/orders.sql`) would run on the executors as a plain `lag`
//! and return other rows. The flag does survive in the logical plan the client sends to the
//! scheduler, so the client renames each such function to its twin `<name>_ignore_nulls`,
//! whose evaluator always skips nulls; the twin reaches the executor by name, and every
//! scheduler and executor of `mdkit ballista` registers the twins ([`register_twins`]).
//! The column keeps its original name. See docs/ARCHITECTURE.md "A Ballista cluster".

use std::sync::Arc;

use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::expr::{NullTreatment, WindowFunction};
use datafusion::logical_expr::function::{
    ExpressionArgs, PartitionEvaluatorArgs, WindowUDFFieldArgs,
};
use datafusion::logical_expr::{
    Documentation, Expr, LimitEffect, LogicalPlan, PartitionEvaluator, ReversedUDWF, Signature,
    WindowFunctionDefinition, WindowUDF, WindowUDFImpl,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_expr::PhysicalExpr;

/// The suffix of a twin's name.
const SUFFIX: &str = "_ignore_nulls";

/// A window function evaluated as if `IGNORE NULLS` were written after it.
#[derive(Debug, PartialEq, Eq, Hash)]
struct IgnoringNulls {
    inner: Arc<WindowUDF>,
    name: String,
}

/// The twin of `udf`: the same function, always ignoring nulls, named `<name>_ignore_nulls`.
fn twin(udf: &Arc<WindowUDF>) -> WindowUDF {
    WindowUDF::new_from_impl(IgnoringNulls {
        inner: Arc::clone(udf),
        name: format!("{}{SUFFIX}", udf.name()),
    })
}

impl WindowUDFImpl for IgnoringNulls {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn expressions(&self, expr_args: ExpressionArgs) -> Vec<Arc<dyn PhysicalExpr>> {
        self.inner.expressions(expr_args)
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        self.inner.partition_evaluator_factory(PartitionEvaluatorArgs::new(
            args.input_exprs(),
            args.input_fields(),
            args.is_reversed(),
            true,
        ))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        self.inner.field(field_args)
    }

    fn sort_options(&self) -> Option<SortOptions> {
        self.inner.sort_options()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn reverse_expr(&self) -> ReversedUDWF {
        match self.inner.reverse_expr() {
            ReversedUDWF::Reversed(reversed) => ReversedUDWF::Reversed(Arc::new(twin(&reversed))),
            other => other,
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn limit_effect(&self, args: &[Arc<dyn PhysicalExpr>]) -> LimitEffect {
        self.inner.inner().limit_effect(args)
    }
}

/// Registers the twin of every window function `registry` knows (a scheduler's or an
/// executor's), so a plan naming one decodes.
pub fn register_twins(registry: &mut dyn FunctionRegistry) -> Result<()> {
    let names: Vec<String> = registry.udwfs().into_iter().collect();
    for name in names {
        if name.ends_with(SUFFIX) {
            continue;
        }
        let udf = registry.udwf(&name)?;
        registry.register_udwf(Arc::new(twin(&udf)))?;
    }
    Ok(())
}

/// The client's analyzer rule: a window UDF with `IGNORE NULLS` becomes its twin, under the
/// column name it had.
#[derive(Debug, Default)]
pub struct KeepIgnoreNulls;

impl AnalyzerRule for KeepIgnoreNulls {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let rewritten = plan.transform_up_with_subqueries(|node| {
            if !matches!(node, LogicalPlan::Window(_)) {
                return Ok(Transformed::no(node));
            }
            node.map_expressions(|expr| {
                let name = expr.schema_name().to_string();
                let aliased = matches!(expr, Expr::Alias(_));
                let renamed = expr.transform_up(|e| match e {
                    Expr::WindowFunction(f) => rename(*f),
                    other => Ok(Transformed::no(other)),
                })?;
                Ok(if renamed.transformed && !aliased {
                    Transformed::yes(renamed.data.alias(name))
                } else {
                    renamed
                })
            })
        })?;
        Ok(rewritten.data)
    }

    fn name(&self) -> &str {
        "mdkit_keep_ignore_nulls"
    }
}

/// `f` with its twin in place of a window UDF marked `IGNORE NULLS`.
fn rename(mut f: WindowFunction) -> Result<Transformed<Expr>> {
    let ignores = f.params.null_treatment == Some(NullTreatment::IgnoreNulls);
    match &f.fun {
        WindowFunctionDefinition::WindowUDF(udf) if ignores && !udf.name().ends_with(SUFFIX) => {
            f.fun = WindowFunctionDefinition::WindowUDF(Arc::new(twin(udf)));
            Ok(Transformed::yes(Expr::WindowFunction(Box::new(f))))
        }
        _ => Ok(Transformed::no(Expr::WindowFunction(Box::new(f)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    const ROWS: &str = "(VALUES (1, 10), (2, NULL), (3, NULL), (4, 40), (5, NULL)) AS x(t, v)";

    async fn table(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    /// The rule renames each window UDF marked IGNORE NULLS and keeps the column's name: the
    /// same header and rows as without it.
    #[tokio::test]
    async fn the_rule_keeps_names_and_rows() {
        let sql = format!(
            "SELECT t, lag(v) IGNORE NULLS OVER (ORDER BY t) AS before, \
             last_value(v) IGNORE NULLS OVER (ORDER BY t), lag(v) OVER (ORDER BY t) \
             FROM {ROWS} ORDER BY t"
        );
        let expected = table(&SessionContext::new(), &sql).await;
        let ctx = SessionContext::new();
        ctx.add_analyzer_rule(Arc::new(KeepIgnoreNulls));
        let plan = ctx.sql(&sql).await.unwrap().into_optimized_plan().unwrap();
        let text = plan.display_indent().to_string();
        assert!(text.contains("lag_ignore_nulls(") && text.contains("last_value_ignore_nulls("));
        assert!(text.contains(" lag(x.v) ORDER BY"), "the plain lag stays: {text}");
        assert_eq!(table(&ctx, &sql).await, expected);
    }

    /// A twin skips nulls with no IGNORE NULLS written, as it runs on an executor; the plain
    /// function does not.
    #[tokio::test]
    async fn a_twin_always_skips_nulls() {
        let mut state = SessionStateBuilder::new().with_default_features().build();
        register_twins(&mut state).unwrap();
        let ctx = SessionContext::new_with_state(state);
        let rows =
            |f: &str| format!("SELECT t, {f}(v) OVER (ORDER BY t) AS x FROM {ROWS} ORDER BY t");
        let twin = table(&ctx, &rows("lag_ignore_nulls")).await;
        let written =
            format!("SELECT t, lag(v) IGNORE NULLS OVER (ORDER BY t) AS x FROM {ROWS} ORDER BY t");
        assert_eq!(twin, table(&ctx, &written).await);
        assert!(twin.contains("| 4 | 10 |"), "{twin}");
        let plain = table(&ctx, &rows("lag")).await;
        assert!(plain.contains("| 4 |    |"), "{plain}");
        let last = table(&ctx, &rows("last_value_ignore_nulls")).await;
        assert!(last.contains("| 3 | 10 |"), "{last}");
    }

    #[test]
    fn every_window_function_gets_one_twin() {
        let mut state = SessionStateBuilder::new().with_default_features().build();
        register_twins(&mut state).unwrap();
        for name in ["lag", "lead", "first_value", "last_value", "nth_value"] {
            assert!(state.udwf(&format!("{name}{SUFFIX}")).is_ok(), "{name}");
        }
        register_twins(&mut state).unwrap();
        assert!(state.udwf("lag_ignore_nulls_ignore_nulls").is_err());
    }
}
