//! `bench-views DB CUSTOMER_ID QUERY...`: the backend's share of the window's speed
//! figures (bench/desktop prints both): opening the database and the first inbox page,
//! the customer screen's one call, and each search; median of 5 after one warm-up.

use shopdesk_app::{App, ConversationFilter, SystemHost};
use shopdesk_core::CustomerId;
use std::time::Instant;

fn median_ms(mut f: impl FnMut() -> anyhow::Result<usize>) -> anyhow::Result<(f64, usize)> {
    let n = f()?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[2], n))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let db = args.next().ok_or_else(|| anyhow::anyhow!("usage: bench-views DB CUSTOMER_ID QUERY..."))?;
    let customer = CustomerId(args.next().ok_or_else(|| anyhow::anyhow!("customer id"))?.parse()?);
    let queries: Vec<String> = args.collect();

    let t = Instant::now();
    let app = App::open(std::path::Path::new(&db), SystemHost)?;
    let opened = t.elapsed().as_secs_f64() * 1000.0;
    let page = app.conversations(&ConversationFilter { limit: Some(50), ..Default::default() })?;
    let total = t.elapsed().as_secs_f64() * 1000.0;
    println!("  backend: open {opened:.1} ms, + first inbox page ({} rows) {total:.1} ms", page.len());
    let (ms, _) = median_ms(|| Ok(app.stats().map(|_| 1)?))?;
    println!("  backend: stats (header totals): {ms:.1} ms");
    let (ms, n) = median_ms(|| Ok(app.customer_view(customer)?.timeline.len()))?;
    println!("  backend: customer_view ({n} timeline items): {ms:.1} ms");
    for q in &queries {
        let (ms, n) = median_ms(|| Ok(app.search(q, 50)?.len()))?;
        println!("  backend: search {q:?} ({n} hits): {ms:.1} ms");
    }
    Ok(())
}
