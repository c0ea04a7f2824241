// RUN: stepc-opt %s --convert-step-to-linalg="qr-panel-rows=96" | FileCheck %s

// qr in panels of 96 columns (rows of Cᵀ), the CPU's lowering (BCGS2):
// each panel is projected onto the rows of Qᵀ before it by two matrix
// products (P·Bᵀ, then its result times B) and a subtraction, then
// Gram–Schmidt runs row by row inside the panel, projecting twice onto the
// panel's rows built so far and replacing a dependent column (its norm
// compared with the column's before any projection; the replacement
// projected onto every row before it, rows 0 to first + t); the rows are
// written in their place in Qᵀ. The second pass reads the first's rows,
// projects them again, and projects once inside the panel.
// CHECK-LABEL: step.group @all
// CHECK: %[[CT:.*]] = linalg.transpose
// CHECK: %[[C96:.*]] = arith.constant 96 : index
// CHECK: scf.for %[[FIRST:[a-z0-9_]+]] = %{{.*}} to %[[COUNT:[a-z0-9_]+]] step %[[C96]] iter_args(%[[QT:[a-z0-9_]+]] = %{{.*}}) -> (tensor<?x?xf32>) {
// CHECK: %[[LEFT:.*]] = arith.subi %[[COUNT]], %[[FIRST]]
// CHECK: %[[SIZE:.*]] = arith.minsi %{{.*}}, %[[LEFT]]
// CHECK: %[[PANEL:.*]] = tensor.extract_slice %[[CT]][%[[FIRST]], 0] [%[[SIZE]], %{{.*}}]
// CHECK: %[[BEFORE:.*]] = tensor.extract_slice %[[QT]][0, 0] [%[[FIRST]], %{{.*}}]
// CHECK: %[[COEF:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[PANEL]], %[[BEFORE]] :
// CHECK: %[[PROJ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[COEF]], %[[BEFORE]] :
// CHECK: %[[ONCE:.*]] = linalg.generic {{.*}} ins(%[[PANEL]], %[[PROJ]] :
// CHECK: arith.subf
// CHECK: %[[FIRSTPASS:.*]] = scf.for %[[T:[a-z0-9_]+]] = %{{.*}} to %[[SIZE]] step %{{.*}} iter_args(%[[BUILT:[a-z0-9_]+]] = %[[QT]])
// CHECK: %[[AT:.*]] = arith.addi %[[FIRST]], %[[T]]
// CHECK: tensor.extract_slice %[[ONCE]][%[[T]], 0]
// CHECK: tensor.extract_slice %[[PANEL]][%[[T]], 0]
// CHECK: %[[INPANEL:.*]] = tensor.extract_slice %[[BUILT]][%[[FIRST]], 0] [%[[T]], %{{.*}}]
// CHECK-COUNT-2: iterator_types = ["reduction", "parallel"]} ins(%{{.*}}, %[[INPANEL]] :
// CHECK: arith.constant 2.44140625E-4 : f32
// CHECK: scf.if
// CHECK: tensor.extract_slice %[[BUILT]][0, 0] [%[[AT]], %{{.*}}]
// CHECK: } else {
// CHECK: tensor.insert_slice %{{.*}} into %[[BUILT]][%[[AT]], 0]
// Second pass: the panel as the first pass left it, projected again.
// CHECK: %[[AGAIN:.*]] = tensor.extract_slice %[[FIRSTPASS]][%[[FIRST]], 0] [%[[SIZE]], %{{.*}}]
// CHECK: %[[BEFORE2:.*]] = tensor.extract_slice %[[FIRSTPASS]][0, 0] [%[[FIRST]], %{{.*}}]
// CHECK: ins(%[[AGAIN]], %[[BEFORE2]] :
// CHECK: scf.for %{{.*}} iter_args(%[[BUILT2:[a-z0-9_]+]] = %[[FIRSTPASS]])
// CHECK: %[[INPANEL2:.*]] = tensor.extract_slice %[[BUILT2]][%[[FIRST]], 0]
// CHECK-COUNT-1: iterator_types = ["reduction", "parallel"]} ins(%{{.*}}, %[[INPANEL2]] :
// CHECK-NOT: ins(%[[INPANEL2]]
// CHECK-NOT: scf.if
// CHECK: tensor.insert_slice %{{.*}} into %[[BUILT2]]
// CHECK: linalg.transpose
step.optimizer @o {
  step.group @all accepts(matrix) dtypes(f32)
      param(%w : tensor<?x?xf32>) grad(%g : tensor<?x?xf32>) {
    %q = step.qr %g : tensor<?x?xf32>
    step.return %q : tensor<?x?xf32>
  }
}
