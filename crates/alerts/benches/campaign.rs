//! The alert domain's share of a large campaign: opening every member's encrypted number,
//! computing blind indexes, and planning 100,000 deliveries over the modems. The store and
//! outbox costs of the same campaign are measured elsewhere (docs/benchmarks.md); this
//! bench says how much of that time the cryptography and planning take.
//!
//! Run: `cargo bench -p textgate-alerts --bench campaign -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;
use textgate_alerts::{
    BlindIndex, BlindIndexKey, CampaignPlan, FieldCipher, FieldContext, FieldKey, FieldPurpose,
    KeyId, KeyRing, MemberNumber, ModemRate, Region,
};

const MEMBERS: u64 = 100_000;

fn numbers() -> Vec<MemberNumber> {
    let region: Region = "US".parse().expect("US is a region");
    (0..MEMBERS)
        .map(|i| {
            // 201-555-01xx style numbers spread over valid New Jersey exchanges.
            let text = format!("+1201{:03}{:04}", 200 + (i / 10_000) % 700, i % 10_000);
            MemberNumber::parse(&text, region).expect("a valid US number")
        })
        .collect()
}

fn cipher() -> FieldCipher {
    let key =
        FieldKey::from_encoded("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .expect("a valid key");
    FieldCipher::new(KeyRing::new(KeyId::new("bench").expect("a valid id"), key))
}

fn bench(c: &mut Criterion) {
    let numbers = numbers();
    let cipher = cipher();
    let mut rng = StdRng::seed_from_u64(1);
    let sealed: Vec<(FieldContext, textgate_alerts::EncryptedField)> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let context = FieldContext::new(FieldPurpose::MemberNumber, i.to_string());
            let value = cipher
                .encrypt(n.as_str(), &context, &mut rng)
                .expect("sealed");
            (context, value)
        })
        .collect();
    let stored: Vec<String> = sealed.iter().map(|(_, v)| v.to_string()).collect();

    let mut group = c.benchmark_group("alerts campaign, 100,000 members");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MEMBERS));
    group.bench_function("parse stored form and decrypt every number", |b| {
        b.iter(|| {
            for ((context, _), text) in sealed.iter().zip(&stored) {
                let value: textgate_alerts::EncryptedField = text.parse().expect("parses");
                black_box(cipher.decrypt(&value, context).expect("opens"));
            }
        })
    });
    let index = BlindIndex::new(BlindIndexKey::from_bytes(
        *b"blind-index-key-for-the-bench-01",
    ));
    group.bench_function("blind index of every number", |b| {
        b.iter(|| {
            for n in &numbers {
                black_box(index.index(n));
            }
        })
    });
    let modems: Vec<ModemRate> = (0..4)
        .map(|i| ModemRate::new(format!("modem{i}"), 20))
        .collect();
    group.bench_function("plan and schedule over 4 modems", |b| {
        b.iter(|| {
            let plan = CampaignPlan::new(MEMBERS, &modems, 1).expect("plans");
            black_box(plan.schedule().count());
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
