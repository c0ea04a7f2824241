// RUN: stepc-opt %s --split-input-file --stepc-fuse-transposes-into-reductions | FileCheck %s

#x = affine_map<(d0, d1) -> (d0, d1)>
#lhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// Newton–Schulz's Gram X·Xᵀ as the CPU code wants it: X rounded to bf16,
// the rounded copy transposed, the product reading the transpose along
// its rows. Fused, the product reads X itself on both sides, each along
// the reduced dim d1, and rounds in its body; the copies are gone.
// CHECK: #[[XK:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK: #[[YK:.+]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func.func @gram
// CHECK-SAME: (%[[X:.+]]: tensor<?x?xf32>
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {indexing_maps = [#[[XK]], #[[YK]], {{.*}}], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[X]] : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK-COUNT-2: arith.truncf
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @gram(%x: tensor<?x?xf32>, %m: index, %n: index) -> tensor<?x?xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %rounded = linalg.generic {indexing_maps = [#x, #x], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.truncf %a : f32 to bf16
    %w = arith.extf %t : bf16 to f32
    linalg.yield %w : f32
  } -> tensor<?x?xf32>
  %et = tensor.empty(%n, %m) : tensor<?x?xf32>
  %transposed = linalg.transpose ins(%rounded : tensor<?x?xf32>) outs(%et : tensor<?x?xf32>) permutation = [1, 0]
  %eg = tensor.empty(%m, %m) : tensor<?x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%eg : tensor<?x?xf32>) -> tensor<?x?xf32>
  %gram = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %transposed : tensor<?x?xf32>, tensor<?x?xf32>) outs(%acc : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.truncf %a : f32 to bf16
    %w = arith.extf %t : bf16 to f32
    %p = arith.mulf %w, %b : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %gram : tensor<?x?xf32>
}

// -----

#tlhs = affine_map<(d0, d1, d2) -> (d0, d1)>
#rhs = affine_map<(d0, d1, d2) -> (d1, d2)>
#out = affine_map<(d0, d1, d2) -> (d0, d2)>

// A transposed left factor would be read down its columns (along d0, not
// the reduced d1): it stays a copy of its own.
// CHECK-LABEL: func.func @negative_transposed_lhs
// CHECK: %[[T:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: linalg.generic {{.*}} ins(%[[T]], %{{.+}} :
func.func @negative_transposed_lhs(%x: tensor<?x?xf32>, %y: tensor<?x?xf32>, %acc: tensor<?x?xf32>, %m: index, %n: index) -> tensor<?x?xf32> {
  %et = tensor.empty(%n, %m) : tensor<?x?xf32>
  %transposed = linalg.transpose ins(%x : tensor<?x?xf32>) outs(%et : tensor<?x?xf32>) permutation = [1, 0]
  %r = linalg.generic {indexing_maps = [#tlhs, #rhs, #out], iterator_types = ["parallel", "reduction", "parallel"]} ins(%transposed, %y : tensor<?x?xf32>, tensor<?x?xf32>) outs(%acc : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

#x = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Sums over the transpose's columns read the source's rows, and fuse;
// sums over its rows would read the source's columns, and do not.
// CHECK-LABEL: func.func @sums_of_a_transpose
// CHECK-SAME: (%[[X:.+]]: tensor<?x?xf32>
// CHECK: %[[T:.+]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x?xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[T]] :
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[X]] :
func.func @sums_of_a_transpose(%x: tensor<?x?xf32>, %rows: tensor<?xf32>, %cols: tensor<?xf32>, %m: index, %n: index) -> (tensor<?xf32>, tensor<?xf32>) {
  %et = tensor.empty(%n, %m) : tensor<?x?xf32>
  %transposed = linalg.transpose ins(%x : tensor<?x?xf32>) outs(%et : tensor<?x?xf32>) permutation = [1, 0]
  %r = linalg.generic {indexing_maps = [#x, #row], iterator_types = ["parallel", "reduction"]} ins(%transposed : tensor<?x?xf32>) outs(%rows : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %c = linalg.generic {indexing_maps = [#x, #col], iterator_types = ["reduction", "parallel"]} ins(%transposed : tensor<?x?xf32>) outs(%cols : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %r, %c : tensor<?xf32>, tensor<?xf32>
}

// -----

#x = affine_map<(d0, d1) -> (d0, d1)>

// A transpose read only element-wise is left as it is.
// CHECK-LABEL: func.func @negative_elementwise_reader
// CHECK: linalg.transpose
func.func @negative_elementwise_reader(%x: tensor<?x?xf32>, %m: index, %n: index) -> tensor<?x?xf32> {
  %et = tensor.empty(%n, %m) : tensor<?x?xf32>
  %transposed = linalg.transpose ins(%x : tensor<?x?xf32>) outs(%et : tensor<?x?xf32>) permutation = [1, 0]
  %r = linalg.generic {indexing_maps = [#x, #x], iterator_types = ["parallel", "parallel"]} ins(%transposed : tensor<?x?xf32>) outs(%et : tensor<?x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.mulf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
