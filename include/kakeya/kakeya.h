// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file kakeya.h
/// Umbrella header: the one include a host C++ user needs.
///
/// Pipeline, one folder per stage:
///   codec/spec.h         what a codec is (CodecSpec) and its derived layout
///   transform/           Walsh–Hadamard rotation
///   lattice/             E8, D4, Z8 box codebooks: nearest point, rank, unrank
///   codec/format.h       the packed record bit layout (format version 1)
///   codec/*_codec.h      one vector: encode / decode (host and device)
///   cpu/                 strided batches on the host, threads, metrics
///   gpu/                 CUDA kernels over the same per-vector maths

#include "kakeya/attention/paged.h"
#include "kakeya/codec/baselines.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/lattice_codec.h"
#include "kakeya/codec/scale.h"
#include "kakeya/codec/spec.h"
#include "kakeya/config.h"
#include "kakeya/cpu/affine.h"
#include "kakeya/cpu/codec.h"
#include "kakeya/cpu/isa.h"
#include "kakeya/cpu/metrics.h"
#include "kakeya/cpu/parallel.h"
#include "kakeya/error.h"
#include "kakeya/lattice/d4.h"
#include "kakeya/lattice/e8.h"
#include "kakeya/lattice/traits.h"
#include "kakeya/lattice/z8.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/transform/affine.h"
#include "kakeya/transform/hadamard.h"
#include "kakeya/view/strided.h"
