//! Parsing `kamcmd ul.dump`: Kamailio's location table as nested `Key: value` lines.
//!
//! ```text
//! AoRs: {
//!     Info: {
//!         AoR: 1002
//!         Contacts: {
//!             Contact: {
//!                 Address: sip:1002@127.0.0.1:5060;transport=UDP
//!                 Expires: 59
//!                 ...
//! ```
//! Only the fields tests look at are kept; the raw dump stays available for messages.

/// One registered contact of an address of record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UlContact {
    /// The Contact URI, e.g. `sip:1001@127.0.0.1:40000;transport=UDP`.
    pub address: String,
    /// Seconds left (`Expires:`), `None` if Kamailio printed something else (`permanent`).
    pub expires: Option<i64>,
    pub call_id: String,
    pub cseq: Option<u32>,
    pub user_agent: String,
    /// The local socket it came in on, e.g. `udp:127.0.0.1:5070`.
    pub socket: String,
    /// `Received:` (source address when it differs), `[not set]` when absent.
    pub received: String,
}

/// One address of record (the user part, as `use_domain` is off) and its contacts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UlRecord {
    pub aor: String,
    pub contacts: Vec<UlContact>,
}

/// Every AoR in a dump, in order.
pub fn parse(dump: &str) -> Vec<UlRecord> {
    let mut records: Vec<UlRecord> = Vec::new();
    for line in dump.lines() {
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "AoR" => records.push(UlRecord {
                aor: value.to_string(),
                contacts: Vec::new(),
            }),
            // `Address` opens a contact; the fields after it belong to it.
            "Address" => {
                if let Some(r) = records.last_mut() {
                    r.contacts.push(UlContact {
                        address: value.to_string(),
                        ..UlContact::default()
                    });
                }
            }
            _ => {
                let Some(c) = records.last_mut().and_then(|r| r.contacts.last_mut()) else {
                    continue;
                };
                match key {
                    "Expires" => c.expires = value.parse().ok(),
                    "Call-ID" => c.call_id = value.to_string(),
                    "CSeq" => c.cseq = value.parse().ok(),
                    "User-Agent" => c.user_agent = value.to_string(),
                    "Socket" => c.socket = value.to_string(),
                    "Received" => c.received = value.to_string(),
                    _ => {}
                }
            }
        }
    }
    records
}

/// The contacts registered for `user` (the AoR as Kamailio stores it: the user part).
pub fn contacts_of(dump: &str, user: &str) -> Vec<UlContact> {
    parse(dump)
        .into_iter()
        .filter(|r| r.aor == user)
        .flat_map(|r| r.contacts)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Trimmed from a real `kamcmd ul.dump` of Kamailio 5.6.3.
    const DUMP: &str = "{
	Domains: {
		Domain: {
			Domain: location
			Size: 1024
			AoRs: {
				Info: {
					AoR: 1002
					HashID: 924766745
					Contacts: {
						Contact: {
							Address: sip:1002@127.0.0.1:5060;transport=UDP
							Expires: 59
							Q: -1
							Call-ID: 1-10176@127.0.0.1
							CSeq: 2
							User-Agent: SIPp
							Received: [not set]
							Socket: udp:127.0.0.1:5999
						}
						Contact: {
							Address: sip:1002@127.0.0.1:6000
							Expires: 3000
							Call-ID: other
							CSeq: 7
						}
					}
				}
				Info: {
					AoR: 1001
					Contacts: {
						Contact: {
							Address: sip:1001@127.0.0.1:40000;transport=tcp
							Expires: permanent
						}
					}
				}
			}
			Stats: {
				Records: 2
			}
		}
	}
}";

    #[test]
    fn parses_records_and_contacts() {
        let r = parse(DUMP);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].aor, "1002");
        assert_eq!(r[0].contacts.len(), 2);
        let c = &r[0].contacts[0];
        assert_eq!(c.address, "sip:1002@127.0.0.1:5060;transport=UDP");
        assert_eq!(c.expires, Some(59));
        assert_eq!(c.call_id, "1-10176@127.0.0.1");
        assert_eq!(c.cseq, Some(2));
        assert_eq!(c.user_agent, "SIPp");
        assert_eq!(c.socket, "udp:127.0.0.1:5999");
        assert_eq!(r[1].contacts[0].expires, None);
    }

    #[test]
    fn contacts_of_filters_by_user() {
        let c = contacts_of(DUMP, "1001");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].address, "sip:1001@127.0.0.1:40000;transport=tcp");
        assert!(contacts_of(DUMP, "1003").is_empty());
        assert!(contacts_of("", "1001").is_empty());
    }
}
