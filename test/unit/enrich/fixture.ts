import { fileURLToPath } from 'node:url';

/** test/fixtures/proc, from the compiled test's location (dist/test/unit/enrich). */
export const FIXTURE_PROC = fileURLToPath(new URL('../../../../test/fixtures/proc', import.meta.url));

export const POD_A = '0f3c2a5e-7b1d-4c8e-9a2f-1d2e3f4a5b6c';
export const POD_B = '7d9e1f20-3a4b-4c5d-8e6f-a1b2c3d4e5f6';
export const POD_C = '11111111-2222-4333-8444-555555555555';
export const STATIC_UID = '6b4f2d5d0c2f5a9d2a7d0d1c1e3b3c4a';
export const HOST_NS = 4026531840;
export const NS_A = 4026532177;
export const NS_B = 4026532300;
export const NS_STATIC = 4026532400;
export const NS_OTHER = 4026532999;
export const hex = (c: string) => c.repeat(64);
