//! The contract a backtest values its fills by (docs/MODEL.md "Contracts"): `--contract`
//! when given, else the one stored with the recording (`_contract/<venue>/<market>.json`,
//! written by `collect` and `import`), else linear of size 1 on a venue where every market is
//! (a tree recorded before contracts were stored). Anything else — a COIN-M recording with
//! no stored contract, an unknown venue — is refused: valuing inverse contracts as linear
//! ones is wrong by orders of magnitude without any sign of it.

use std::path::Path;

use crate::model::contract::Contract;
use crate::storage::{ContractFileError, StoredContract};
use crate::venue::Venue;

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error(transparent)]
    File(#[from] ContractFileError),
    #[error("{venue}/{market}: its contract is unknown (no {} is stored with the recording, and {venue} markets are not all linear of size 1), so fills cannot be valued; pass --contract inverse:SIZE or --contract linear:SIZE (Binance COIN-M: inverse:100 for BTC, inverse:10 otherwise), or import it again", path.display())]
    Unknown { venue: String, market: String, path: std::path::PathBuf },
}

/// The contract of `venue`/`market` in the tree at `root`, with where it came from.
pub fn resolve(
    root: &Path,
    venue: &str,
    market: &str,
    flag: Option<Contract>,
) -> Result<(Contract, String), ContractError> {
    if let Some(contract) = flag {
        return Ok((contract, "--contract".to_owned()));
    }
    if let Some(stored) = StoredContract::load(root, venue, market)? {
        return Ok((stored.contract, format!("stored: {}", stored.source)));
    }
    match Venue::implied_contract(venue) {
        Some(contract) => Ok((contract, format!("every {venue} market is {contract}"))),
        None => Err(ContractError::Unknown {
            venue: venue.to_owned(),
            market: market.to_owned(),
            path: Path::new("_contract").join(venue).join(format!("{market}.json")),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::CONTRACT_VERSION;

    #[test]
    fn flag_then_stored_then_linear_venues_else_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let inverse: Contract = "inverse:100".parse().unwrap();
        let (c, _) = resolve(root, "binance-usdm", "BTCUSDT", None).unwrap();
        assert_eq!(c, Contract::LINEAR_1);
        let (c, _) = resolve(root, "extended", "ETH-USD", None).unwrap();
        assert_eq!(c, Contract::LINEAR_1);
        let err = resolve(root, "binance-coinm", "BTCUSD_PERP", None).unwrap_err().to_string();
        assert!(
            err.starts_with("binance-coinm/BTCUSD_PERP: its contract is unknown")
                && err.contains("pass --contract inverse:SIZE")
                && !err.contains('\n'),
            "{err}"
        );
        assert!(resolve(root, "elsewhere", "X", None).is_err());
        let (c, how) = resolve(root, "binance-coinm", "BTCUSD_PERP", Some(inverse)).unwrap();
        assert_eq!((c, how.as_str()), (inverse, "--contract"));
        StoredContract {
            version: CONTRACT_VERSION,
            venue: "binance-coinm".into(),
            market: "BTCUSD_PERP".into(),
            contract: inverse,
            source: "test".into(),
        }
        .save(root)
        .unwrap();
        let (c, how) = resolve(root, "binance-coinm", "BTCUSD_PERP", None).unwrap();
        assert_eq!((c, how.as_str()), (inverse, "stored: test"));
    }
}
